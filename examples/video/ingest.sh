tributary video create cam-yard --retention 24 --media-type video/h264
# A test camera, live (-re) for 10 s: 720p H.264, a keyframe every 2 s (-g 60 at 30 fps), so a fragment every 2 s
ffmpeg -loglevel error -re -f lavfi -i testsrc=size=1280x720:rate=30 -t 10 \
  -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 60 -keyint_min 60 -sc_threshold 0 \
  -f matroska -cluster_time_limit 100000 -cluster_size_limit 100000000 - \
  | tributary video put cam-yard -

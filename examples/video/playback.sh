url=$(tributary video hls-url cam-yard --mode on-demand --start -10m --end now)
ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 "$url"
tributary video clip cam-yard --start -10m -o yard.mp4
ffprobe -v error -show_entries format=duration -of csv=p=0 yard.mp4
tributary video images cam-yard --start -1m --end now --interval 2s --width 640 -o frames/

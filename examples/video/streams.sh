tributary video create cam-front --retention 24 --media-type video/h264
tributary video list --prefix cam-
tributary video describe cam-front
tributary video delete cam-front

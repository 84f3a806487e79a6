sudo apt install ./tributary_*_all.deb

npm run package -- gateway     # writes dist/tributary_<version>_all.deb

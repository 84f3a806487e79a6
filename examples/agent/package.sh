npm run package -- agent       # writes dist/tributary-agent_<version>_all.deb

sudo apt install ./tributary-agent_*_all.deb

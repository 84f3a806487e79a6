tributary gateway init --data /var/lib/tributary --name gateway.example.lan --ip 192.168.1.10
# prints the CA fingerprint (SHA256:9B:9E:...), the CA path and the operator profile path

tributary gateway check-config configs/gateway.example.yaml   # prints the effective settings, or file:line: field errors

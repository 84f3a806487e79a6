tributary devices pair-code --name pi-01 --policy device --ttl 10m

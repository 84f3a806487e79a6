tributary streams create events --shards 2            # waits until the stream is ACTIVE
tributary streams put events '{"temp":21.5}' -k dev-1
tributary streams tail events --from trim-horizon     # prints records as JSON lines, follows until Ctrl-C

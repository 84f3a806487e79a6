# a stream to read, one to write, and a reading
tributary streams create telemetry --shards 2
tributary streams create hot
tributary streams put telemetry '{"device":"pi-01","temperature":35.5}' -k pi-01
# app.sql: the application's SQL; input.json and output.json: the API's Input and Output objects
tributary analytics create heat --code examples/analytics/app.sql \
    --input examples/analytics/input.json --output examples/analytics/output.json
tributary analytics start heat --from trim-horizon
tributary analytics describe heat
tributary streams tail hot --from trim-horizon    # {"device":"pi-01","temperature":35.5}; Ctrl-C to stop

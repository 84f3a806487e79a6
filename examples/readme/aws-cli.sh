export AWS_ACCESS_KEY_ID=$(node -p "require('./data/operator.json').accessKeyId")
export AWS_SECRET_ACCESS_KEY=$(node -p "require('./data/operator.json').secretAccessKey")
export AWS_DEFAULT_REGION=us-east-1
AWS="aws --endpoint-url $(node -p "require('./data/operator.json').endpoint") --ca-bundle data/tls/ca.crt"

$AWS kinesis create-stream --stream-name telemetry --shard-count 2
$AWS kinesis wait stream-exists --stream-name telemetry
$AWS kinesis put-record --stream-name telemetry --partition-key dev-1 \
    --data "$(printf '{"temp":21.5}' | base64)"
ITER=$($AWS kinesis get-shard-iterator --stream-name telemetry \
    --shard-id shardId-000000000000 --shard-iterator-type TRIM_HORIZON \
    --query ShardIterator --output text)
$AWS kinesis get-records --shard-iterator "$ITER"

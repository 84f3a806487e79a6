export AWS_ACCESS_KEY_ID=$(node -p "require('./data/operator.json').accessKeyId")
export AWS_SECRET_ACCESS_KEY=$(node -p "require('./data/operator.json').secretAccessKey")
aws --endpoint-url "$(node -p "require('./data/operator.json').endpoint")" --ca-bundle data/tls/ca.crt \
    --region us-east-1 kinesis list-streams

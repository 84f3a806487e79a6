$AWS firehose create-delivery-stream --delivery-stream-name clicks \
    --extended-s3-destination-configuration \
    'RoleARN=arn:aws:iam::000000000000:role/firehose,BucketARN=arn:aws:s3:::archive,BufferingHints={SizeInMBs=1,IntervalInSeconds=60}'
$AWS firehose put-record --delivery-stream-name clicks --record "Data=$(printf '{"page":"/"}\n' | base64)"

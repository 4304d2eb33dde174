"""One budget for every call the function makes to another service: DynamoDB and S3 (aws.py), Google's token
certificates and the Firebase Admin API (firebase.py).

Each attempt connects within CONNECT_TIMEOUT_S and waits at most READ_TIMEOUT_S for each read; a call is
retried at most RETRIES times. A dependency that accepts connections and never answers therefore costs one
call at most WORST_CASE_CALL_S (14 s; botocore adds under 1 s of jittered backoff before its retry), well
inside the function's 30 s Timeout (template.yml; tests/infra checks the two together): the caller gets
the app's 503 instead of Lambda killing the request. READ_TIMEOUT_S bounds the wait for each read, not a
whole response: a server that trickles bytes can hold a call longer (Google and AWS do not).
"""

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
RETRIES = 1
ATTEMPTS = 1 + RETRIES
WORST_CASE_CALL_S = ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S)

-- Late uploads: when a scan the phone kept offline reached the server. Null for every
-- scan taken as it happened; for a late upload, `server_time` is the time the scan is
-- recorded at (the phone's claim, judged against the code's window) and this is when it
-- arrived, which the late-upload rule measures.

alter table scan add column uploaded_at timestamptz;

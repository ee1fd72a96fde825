-- Who holds an outbox lease: the lease name of the worker process that claimed the row
-- (`host#n`, kept by a session advisory lock for as long as the process runs; see
-- outbound::owner). A worker that starts under a name nobody holds gives that name's leases
-- back at once: they belong to a process that died with them.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;

-- The database gauges of /metrics (src/monitoring/metrics.rs) count on every scrape; these let
-- PostgreSQL answer from an index (index-only scans once the table is vacuumed) instead of
-- reading every request's understanding and every task's plan.

-- Requests by kind and status, and how many of each are past their deadline.
CREATE INDEX requests_kind_status ON requests (kind, status, due_at);

-- Store tasks by status (store_tasks_open covers only the open ones).
CREATE INDEX store_tasks_status ON store_tasks (status);

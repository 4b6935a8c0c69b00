-- Overviews and reports count a tenant's alerts raised in a period (MetaStore::alert_summary).
CREATE INDEX alerts_by_time ON alerts (tenant, created_at);

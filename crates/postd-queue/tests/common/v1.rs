//! The schema of version 1, verbatim from the migrations as they stood
//! before version 2, to build a database the way an old store left it.

/// SQLite's version-1 migration.
pub const SQLITE: &str = "CREATE TABLE IF NOT EXISTS postd_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        payload TEXT NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        run_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'dead', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        lease_owner TEXT,
        lease_expires_at INTEGER,
        fence INTEGER NOT NULL DEFAULT 0,
        stalls INTEGER NOT NULL DEFAULT 0,
        reclaimed INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        errors TEXT NOT NULL DEFAULT '[]',
        idempotency_key TEXT,
        outcome TEXT,
        progress TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        completed_at INTEGER,
        dead_reason TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS postd_jobs_idempotency
        ON postd_jobs (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX IF NOT EXISTS postd_jobs_due
        ON postd_jobs (queue, run_at, priority) WHERE state = 'pending';
    CREATE INDEX IF NOT EXISTS postd_jobs_leases
        ON postd_jobs (queue, lease_expires_at) WHERE state = 'running';
    CREATE INDEX IF NOT EXISTS postd_jobs_finished ON postd_jobs (queue, state, updated_at)
        WHERE state IN ('completed', 'dead', 'cancelled');
    CREATE INDEX IF NOT EXISTS postd_jobs_dead ON postd_jobs (updated_at) WHERE state = 'dead';";

/// Postgres's version-1 migration.
pub const POSTGRES: &str = "CREATE TABLE IF NOT EXISTS postd_jobs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        queue TEXT NOT NULL,
        payload JSONB NOT NULL,
        priority BIGINT NOT NULL DEFAULT 0,
        run_at BIGINT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'dead', 'cancelled')),
        attempts BIGINT NOT NULL DEFAULT 0,
        max_attempts BIGINT NOT NULL,
        lease_owner TEXT,
        lease_expires_at BIGINT,
        fence BIGINT NOT NULL DEFAULT 0,
        stalls BIGINT NOT NULL DEFAULT 0,
        reclaimed BOOLEAN NOT NULL DEFAULT FALSE,
        last_error TEXT,
        errors JSONB NOT NULL DEFAULT '[]',
        idempotency_key TEXT,
        outcome JSONB,
        progress JSONB,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        completed_at BIGINT,
        dead_reason TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS postd_jobs_idempotency
        ON postd_jobs (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX IF NOT EXISTS postd_jobs_due
        ON postd_jobs (queue, run_at, priority, id) WHERE state = 'pending';
    CREATE INDEX IF NOT EXISTS postd_jobs_leases
        ON postd_jobs (queue, lease_expires_at) WHERE state = 'running';
    CREATE INDEX IF NOT EXISTS postd_jobs_finished ON postd_jobs (queue, state, updated_at)
        WHERE state IN ('completed', 'dead', 'cancelled');
    CREATE INDEX IF NOT EXISTS postd_jobs_dead ON postd_jobs (updated_at) WHERE state = 'dead';";

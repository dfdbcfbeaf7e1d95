-- CreateTable
CREATE TABLE "teardown" (
    "id" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "active_workflow_id" TEXT,
    "status" TEXT NOT NULL,
    "step" TEXT NOT NULL,
    "dry_run" BOOLEAN NOT NULL,
    "include_lead_history" BOOLEAN NOT NULL DEFAULT false,
    "reason" TEXT NOT NULL,
    "ticket" TEXT,
    "requested_by" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL DEFAULT 1,
    "fencing_token" BIGINT NOT NULL DEFAULT 0,
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "leads_exported" INTEGER NOT NULL DEFAULT 0,
    "leads_total" INTEGER,
    "cancel_sent_at" TIMESTAMPTZ(3),
    "cancelled_at" TIMESTAMPTZ(3),
    "delete_pending" BOOLEAN NOT NULL DEFAULT false,
    "delete_attempts" INTEGER NOT NULL DEFAULT 0,
    "delete_wait_started_at" TIMESTAMPTZ(3),
    "deleted_at" TIMESTAMPTZ(3),
    "archive" JSONB,
    "error_code" TEXT,
    "error_message" TEXT,
    "error_step" TEXT,
    "error_retryable" BOOLEAN,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "teardown_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_event" (
    "seq" BIGINT NOT NULL,
    "id" UUID NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "actor" TEXT NOT NULL,
    "teardown_id" TEXT,
    "workflow_id" TEXT,
    "type" TEXT NOT NULL,
    "details" JSONB NOT NULL,
    "prev_hash" TEXT NOT NULL,
    "hash" TEXT NOT NULL,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "idempotency_record" (
    "caller" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "request_hash" TEXT NOT NULL,
    "teardown_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "idempotency_record_pkey" PRIMARY KEY ("caller","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "teardown_active_workflow_id_key" ON "teardown"("active_workflow_id");

-- CreateIndex
CREATE INDEX "teardown_workflow_id_created_at_idx" ON "teardown"("workflow_id", "created_at");

-- CreateIndex
CREATE INDEX "teardown_requested_by_created_at_idx" ON "teardown"("requested_by", "created_at");

-- CreateIndex
CREATE INDEX "teardown_status_idx" ON "teardown"("status");

-- CreateIndex
CREATE UNIQUE INDEX "audit_event_id_key" ON "audit_event"("id");

-- CreateIndex
CREATE UNIQUE INDEX "audit_event_hash_key" ON "audit_event"("hash");

-- CreateIndex
CREATE INDEX "audit_event_teardown_id_seq_idx" ON "audit_event"("teardown_id", "seq");

-- CreateIndex
CREATE INDEX "audit_event_workflow_id_seq_idx" ON "audit_event"("workflow_id", "seq");

-- CreateIndex
CREATE INDEX "audit_event_type_seq_idx" ON "audit_event"("type", "seq");

-- CreateIndex
CREATE INDEX "idempotency_record_created_at_idx" ON "idempotency_record"("created_at");

-- The audit trail is append-only: rows can be inserted, never changed or removed, whoever asks.
-- (The service's own database role should also lack UPDATE, DELETE and TRUNCATE on the table:
-- see the README, "Operations".)
CREATE FUNCTION "audit_event_append_only"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER "audit_event_no_update_or_delete"
  BEFORE UPDATE OR DELETE ON "audit_event"
  FOR EACH ROW EXECUTE FUNCTION "audit_event_append_only"();

CREATE TRIGGER "audit_event_no_truncate"
  BEFORE TRUNCATE ON "audit_event"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_event_append_only"();

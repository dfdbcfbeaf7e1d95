-- CreateTable
CREATE TABLE "restore" (
    "id" TEXT NOT NULL,
    "teardown_id" TEXT NOT NULL,
    "source_workflow_id" TEXT NOT NULL,
    "snapshot" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "dry_run" BOOLEAN NOT NULL,
    "exclude_lead_statuses" TEXT[],
    "requested_by" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "fencing_token" BIGINT NOT NULL DEFAULT 0,
    "claims_since_progress" INTEGER NOT NULL DEFAULT 0,
    "lease_owner" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "plan" JSONB,
    "new_workflow_id" TEXT,
    "id_map_key" TEXT,
    "upstream_requests" INTEGER NOT NULL DEFAULT 0,
    "error_code" TEXT,
    "error_message" TEXT,
    "error_retryable" BOOLEAN,
    "error_details" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "restore_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "restore_item" (
    "restore_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "seq" INTEGER NOT NULL,
    "old_id" TEXT NOT NULL,
    "new_id" TEXT,
    "result" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "done_at" TIMESTAMPTZ(3),

    CONSTRAINT "restore_item_pkey" PRIMARY KEY ("restore_id","kind","seq")
);

-- CreateIndex
CREATE INDEX "restore_teardown_id_created_at_idx" ON "restore"("teardown_id", "created_at");

-- CreateIndex
CREATE INDEX "restore_status_idx" ON "restore"("status");


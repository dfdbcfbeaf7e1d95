-- AlterTable
ALTER TABLE "teardown" ADD COLUMN     "approvals_required" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "approval" (
    "id" UUID NOT NULL,
    "teardown_id" TEXT NOT NULL,
    "approver" TEXT NOT NULL,
    "decision" TEXT NOT NULL,
    "comment" TEXT,
    "decided_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "approval_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "legal_hold" (
    "id" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "placed_by" TEXT NOT NULL,
    "placed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lifted_by" TEXT,
    "lifted_at" TIMESTAMPTZ(3),

    CONSTRAINT "legal_hold_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "approval_teardown_id_approver_key" ON "approval"("teardown_id", "approver");

-- CreateIndex
CREATE INDEX "legal_hold_workflow_id_lifted_at_idx" ON "legal_hold"("workflow_id", "lifted_at");

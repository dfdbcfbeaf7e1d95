-- AlterTable
ALTER TABLE "teardown" ADD COLUMN     "leads_upload" JSONB;

-- CreateTable
CREATE TABLE "leads_upload_part" (
    "teardown_id" TEXT NOT NULL,
    "part_number" INTEGER NOT NULL,
    "upload_id" TEXT NOT NULL,
    "etag" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "leads" INTEGER NOT NULL,
    "first_page" INTEGER NOT NULL,
    "last_page" INTEGER NOT NULL,
    "sha256_state" BYTEA NOT NULL,
    "leads_digest" TEXT NOT NULL,
    "fingerprints" BYTEA NOT NULL,
    "leads_total_reported" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "leads_upload_part_pkey" PRIMARY KEY ("teardown_id","part_number")
);


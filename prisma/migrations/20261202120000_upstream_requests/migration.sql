-- AlterTable
ALTER TABLE "teardown" ADD COLUMN     "upstream_requests" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "upstream_requests_left" INTEGER,
ADD COLUMN     "seconds_left" INTEGER,
ADD COLUMN     "estimated_at" TIMESTAMPTZ(3);

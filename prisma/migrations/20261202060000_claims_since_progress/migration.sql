-- AlterTable
ALTER TABLE "teardown" ADD COLUMN     "claims_since_progress" INTEGER NOT NULL DEFAULT 0;

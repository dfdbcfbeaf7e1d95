-- CreateTable
CREATE TABLE "rate_budget" (
    "key" TEXT NOT NULL,
    "state" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rate_budget_pkey" PRIMARY KEY ("key")
);

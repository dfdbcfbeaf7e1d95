-- CreateTable
CREATE TABLE "console_session" (
    "id" TEXT NOT NULL,
    "token_sha256" TEXT NOT NULL,
    "caller_name" TEXT NOT NULL,
    "roles" TEXT[],
    "method" TEXT NOT NULL,
    "csrf_secret" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "console_session_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "console_session_token_sha256_key" ON "console_session"("token_sha256");

-- CreateIndex
CREATE INDEX "console_session_expires_at_idx" ON "console_session"("expires_at");


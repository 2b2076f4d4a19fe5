-- AlterTable
ALTER TABLE "call" ADD COLUMN     "idempotency_key" TEXT;

-- AlterTable
ALTER TABLE "pilot" ADD COLUMN     "themes" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateIndex
CREATE UNIQUE INDEX "call_idempotency_key_key" ON "call"("idempotency_key");


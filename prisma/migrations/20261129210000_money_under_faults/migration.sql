-- DropIndex
DROP INDEX "ledger_entry_pilot_id_tranche_key";

-- AlterTable
ALTER TABLE "ledger_entry" ADD COLUMN     "purpose" TEXT NOT NULL DEFAULT 'payment',
ADD COLUMN     "void_reason" TEXT,
ADD COLUMN     "voided_at" TIMESTAMP(3),
ADD COLUMN     "voided_by" TEXT;

-- AlterTable
ALTER TABLE "outbox_message" ADD COLUMN     "lease_until" TIMESTAMP(3),
ADD COLUMN     "next_attempt_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE UNIQUE INDEX "ledger_entry_pilot_id_tranche_purpose_key" ON "ledger_entry"("pilot_id", "tranche", "purpose");

-- CreateIndex
CREATE INDEX "outbox_message_status_next_attempt_at_idx" ON "outbox_message"("status", "next_attempt_at");


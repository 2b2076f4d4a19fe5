-- AlterTable
ALTER TABLE "pilot" ADD COLUMN     "publicity_marked_at" TIMESTAMP(3),
ADD COLUMN     "publicity_note" TEXT,
ADD COLUMN     "tail_withheld" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "ledger_entry" (
    "id" BIGSERIAL NOT NULL,
    "pilot_id" TEXT NOT NULL,
    "call_id" TEXT NOT NULL,
    "tranche" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "amount_fen" INTEGER NOT NULL,
    "reason" TEXT,
    "status" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "confirmed_at" TIMESTAMP(3),
    "confirmation_ref" TEXT,
    "confirmed_by" TEXT,

    CONSTRAINT "ledger_entry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_message" (
    "id" BIGSERIAL NOT NULL,
    "key" TEXT NOT NULL,
    "pilot_id" TEXT,
    "recipients" TEXT[],
    "subject" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "message_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMP(3),

    CONSTRAINT "outbox_message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "unit_integrity_flag" (
    "id" BIGSERIAL NOT NULL,
    "pilot_unit_code" TEXT NOT NULL,
    "pilot_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "flagged_by" TEXT NOT NULL,
    "flagged_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "unit_integrity_flag_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ledger_entry_call_id_idx" ON "ledger_entry"("call_id");

-- CreateIndex
CREATE UNIQUE INDEX "ledger_entry_pilot_id_tranche_key" ON "ledger_entry"("pilot_id", "tranche");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_message_key_key" ON "outbox_message"("key");

-- CreateIndex
CREATE INDEX "outbox_message_pilot_id_idx" ON "outbox_message"("pilot_id");

-- CreateIndex
CREATE UNIQUE INDEX "unit_integrity_flag_pilot_id_key" ON "unit_integrity_flag"("pilot_id");

-- CreateIndex
CREATE INDEX "unit_integrity_flag_pilot_unit_code_idx" ON "unit_integrity_flag"("pilot_unit_code");

-- AddForeignKey
ALTER TABLE "ledger_entry" ADD CONSTRAINT "ledger_entry_pilot_id_fkey" FOREIGN KEY ("pilot_id") REFERENCES "pilot"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "call" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "submission_deadline" TIMESTAMP(3) NOT NULL,
    "funding_min_fen" INTEGER NOT NULL,
    "funding_max_fen" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "call_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "pilot" (
    "id" TEXT NOT NULL,
    "call_id" TEXT NOT NULL,
    "pilot_unit_code" TEXT NOT NULL,
    "pilot_unit_name" TEXT NOT NULL,
    "applicant_unit_name" TEXT NOT NULL,
    "province" TEXT NOT NULL,
    "provincial" BOOLEAN NOT NULL,
    "phase" TEXT NOT NULL,
    "approved_amount_fen" INTEGER,
    "registered_at" TIMESTAMP(3) NOT NULL,
    "submitted_at" TIMESTAMP(3),
    "decided_at" TIMESTAMP(3),
    "closed_at" TIMESTAMP(3),
    "state_version" INTEGER NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "pilot_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_event" (
    "id" BIGSERIAL NOT NULL,
    "pilot_id" TEXT NOT NULL,
    "step" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "phase" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_role" TEXT,
    "reason" TEXT,
    "data" JSONB NOT NULL,
    "occurred_at" TIMESTAMP(3) NOT NULL,
    "recorded_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "pilot_call_id_phase_idx" ON "pilot"("call_id", "phase");

-- CreateIndex
CREATE UNIQUE INDEX "pilot_call_id_pilot_unit_code_key" ON "pilot"("call_id", "pilot_unit_code");

-- CreateIndex
CREATE INDEX "audit_event_occurred_at_idx" ON "audit_event"("occurred_at");

-- CreateIndex
CREATE UNIQUE INDEX "audit_event_pilot_id_step_key" ON "audit_event"("pilot_id", "step");

-- AddForeignKey
ALTER TABLE "pilot" ADD CONSTRAINT "pilot_call_id_fkey" FOREIGN KEY ("call_id") REFERENCES "call"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "audit_event" ADD CONSTRAINT "audit_event_pilot_id_fkey" FOREIGN KEY ("pilot_id") REFERENCES "pilot"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


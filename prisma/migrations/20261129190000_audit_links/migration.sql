-- AlterTable
ALTER TABLE "audit_event" ADD COLUMN     "activity_id" TEXT,
ADD COLUMN     "update_id" TEXT,
ALTER COLUMN "phase" DROP NOT NULL;


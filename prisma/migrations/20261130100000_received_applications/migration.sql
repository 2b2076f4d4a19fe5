-- Applications received by e-mail (issue 12): one row per message of a call's submission mailbox,
-- inserted once (unique on call, folder, UIDVALIDITY, UID), and how far each folder has been read.
CREATE TABLE "received_application" (
    "id" TEXT NOT NULL,
    "call_id" TEXT NOT NULL,
    "mailbox" TEXT NOT NULL,
    "uid_validity" BIGINT NOT NULL,
    "uid" BIGINT NOT NULL,
    "received_at" TIMESTAMP(3) NOT NULL,
    "sender" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "attachment_name" TEXT,
    "pdf_sha256" TEXT,
    "pdf_size_bytes" INTEGER,
    "flags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "attachments" JSONB NOT NULL DEFAULT '[]',
    "message_id" TEXT,
    "pilot_id" TEXT,
    "attached_at" TIMESTAMP(3),
    "attached_by" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "received_application_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "mailbox_cursor" (
    "call_id" TEXT NOT NULL,
    "mailbox" TEXT NOT NULL,
    "uid_validity" BIGINT NOT NULL,
    "last_uid" BIGINT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "mailbox_cursor_pkey" PRIMARY KEY ("call_id","mailbox","uid_validity")
);

CREATE INDEX "received_application_call_id_received_at_idx" ON "received_application"("call_id", "received_at");

CREATE UNIQUE INDEX "received_application_call_id_mailbox_uid_validity_uid_key" ON "received_application"("call_id", "mailbox", "uid_validity", "uid");

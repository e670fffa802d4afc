/work/main/board/target/debug/deps/spumone_migration-818a535f31183bcc.d: /work/main/migration/src/lib.rs /work/main/migration/src/claim.rs /work/main/migration/src/crc.rs /work/main/migration/src/engine.rs /work/main/migration/src/index.rs /work/main/migration/src/ipi.rs /work/main/migration/src/layout.rs /work/main/migration/src/mailbox.rs /work/main/migration/src/message.rs /work/main/migration/src/outbox.rs /work/main/migration/src/policy.rs /work/main/migration/src/port.rs

/work/main/board/target/debug/deps/libspumone_migration-818a535f31183bcc.rmeta: /work/main/migration/src/lib.rs /work/main/migration/src/claim.rs /work/main/migration/src/crc.rs /work/main/migration/src/engine.rs /work/main/migration/src/index.rs /work/main/migration/src/ipi.rs /work/main/migration/src/layout.rs /work/main/migration/src/mailbox.rs /work/main/migration/src/message.rs /work/main/migration/src/outbox.rs /work/main/migration/src/policy.rs /work/main/migration/src/port.rs

/work/main/migration/src/lib.rs:
/work/main/migration/src/claim.rs:
/work/main/migration/src/crc.rs:
/work/main/migration/src/engine.rs:
/work/main/migration/src/index.rs:
/work/main/migration/src/ipi.rs:
/work/main/migration/src/layout.rs:
/work/main/migration/src/mailbox.rs:
/work/main/migration/src/message.rs:
/work/main/migration/src/outbox.rs:
/work/main/migration/src/policy.rs:
/work/main/migration/src/port.rs:

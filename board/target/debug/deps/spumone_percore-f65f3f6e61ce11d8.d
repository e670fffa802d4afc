/work/main/board/target/debug/deps/spumone_percore-f65f3f6e61ce11d8.d: /work/main/percore/src/lib.rs /work/main/percore/src/bootblock.rs /work/main/percore/src/config.rs /work/main/percore/src/hw.rs /work/main/percore/src/instance.rs /work/main/percore/src/post.rs /work/main/percore/src/rp1.rs /work/main/percore/src/tracebuf.rs

/work/main/board/target/debug/deps/libspumone_percore-f65f3f6e61ce11d8.rmeta: /work/main/percore/src/lib.rs /work/main/percore/src/bootblock.rs /work/main/percore/src/config.rs /work/main/percore/src/hw.rs /work/main/percore/src/instance.rs /work/main/percore/src/post.rs /work/main/percore/src/rp1.rs /work/main/percore/src/tracebuf.rs

/work/main/percore/src/lib.rs:
/work/main/percore/src/bootblock.rs:
/work/main/percore/src/config.rs:
/work/main/percore/src/hw.rs:
/work/main/percore/src/instance.rs:
/work/main/percore/src/post.rs:
/work/main/percore/src/rp1.rs:
/work/main/percore/src/tracebuf.rs:

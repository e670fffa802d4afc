/work/main/board/target/debug/deps/spumone_kernel-4722054d4220373a.d: /work/main/kernel/src/lib.rs /work/main/kernel/src/counters.rs /work/main/kernel/src/guest.rs /work/main/kernel/src/hypercall.rs /work/main/kernel/src/ipl.rs /work/main/kernel/src/vcpu.rs

/work/main/board/target/debug/deps/libspumone_kernel-4722054d4220373a.rmeta: /work/main/kernel/src/lib.rs /work/main/kernel/src/counters.rs /work/main/kernel/src/guest.rs /work/main/kernel/src/hypercall.rs /work/main/kernel/src/ipl.rs /work/main/kernel/src/vcpu.rs

/work/main/kernel/src/lib.rs:
/work/main/kernel/src/counters.rs:
/work/main/kernel/src/guest.rs:
/work/main/kernel/src/hypercall.rs:
/work/main/kernel/src/ipl.rs:
/work/main/kernel/src/vcpu.rs:

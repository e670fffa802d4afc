/work/main/board/target/debug/deps/spumone_board-cb9b0ad2aac0537c.d: src/lib.rs src/board_core.rs src/frame.rs src/layout.rs src/mmio.rs Cargo.toml

/work/main/board/target/debug/deps/libspumone_board-cb9b0ad2aac0537c.rmeta: src/lib.rs src/board_core.rs src/frame.rs src/layout.rs src/mmio.rs Cargo.toml

src/lib.rs:
src/board_core.rs:
src/frame.rs:
src/layout.rs:
src/mmio.rs:
Cargo.toml:

# env-dep:CLIPPY_ARGS=
# env-dep:CLIPPY_CONF_DIR

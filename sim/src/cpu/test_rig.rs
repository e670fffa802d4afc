//! The small test rig the CPU's unit tests share: a flat 1 MiB RAM bus at
//! physical 0x0800_0000 and a privileged core with code loaded at P1
//! 0x8800_1000.

use super::*;
use crate::devices::Size;

/// 1 MiB of RAM at physical 0x0800_0000, nothing else.
pub(crate) struct TestBus {
    pub(crate) mem: Vec<u8>,
    reserved: Option<u32>,
}

pub(crate) const BASE: u32 = 0x0800_0000;
/// Code is loaded here (P1 view of BASE + 0x1000).
pub(crate) const CODE: u32 = 0x8800_1000;

impl TestBus {
    pub(crate) fn new() -> TestBus {
        TestBus { mem: vec![0; 1 << 20], reserved: None }
    }
    fn off(&self, addr: u32, n: u32) -> Result<usize, BusError> {
        let off = addr.wrapping_sub(BASE) as usize;
        if off + n as usize <= self.mem.len() {
            Ok(off)
        } else {
            Err(BusError)
        }
    }
    pub(crate) fn put32(&mut self, vaddr: u32, v: u32) {
        let off = (vaddr & 0x1FFF_FFFF) as usize - BASE as usize;
        self.mem[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn get32(&self, vaddr: u32) -> u32 {
        let off = (vaddr & 0x1FFF_FFFF) as usize - BASE as usize;
        u32::from_le_bytes(self.mem[off..off + 4].try_into().unwrap())
    }
}

impl Bus for TestBus {
    fn read(&mut self, _: usize, _: &mut u64, addr: u32, size: Size) -> Result<u32, BusError> {
        let off = self.off(addr, size.bytes())?;
        let m = &self.mem;
        Ok(match size {
            Size::Byte => m[off] as u32,
            Size::Word => u16::from_le_bytes([m[off], m[off + 1]]) as u32,
            Size::Long => u32::from_le_bytes(m[off..off + 4].try_into().unwrap()),
        })
    }
    fn write(&mut self, _: usize, _: &mut u64, addr: u32, size: Size, v: u32) -> Result<(), BusError> {
        let off = self.off(addr, size.bytes())?;
        let bytes = v.to_le_bytes();
        self.mem[off..off + size.bytes() as usize].copy_from_slice(&bytes[..size.bytes() as usize]);
        Ok(())
    }
    fn fetch(&mut self, _: usize, addr: u32) -> Result<u16, BusError> {
        let off = self.off(addr, 2)?;
        Ok(u16::from_le_bytes([self.mem[off], self.mem[off + 1]]))
    }
    fn reserve(&mut self, _: usize, addr: u32) {
        self.reserved = Some(addr);
    }
    fn take_reservation(&mut self, _: usize) -> bool {
        self.reserved.take().is_some()
    }
    fn clear_reservation(&mut self, _: usize) {
        self.reserved = None;
    }
}

pub(crate) struct Rig {
    pub(crate) cpu: Cpu,
    pub(crate) bus: TestBus,
    pub(crate) table: OpTable<TestBus>,
}

impl Rig {
    /// A privileged core with BL clear, VBR at CODE + 0x10000, code at CODE.
    pub(crate) fn new(code: &[u16]) -> Rig {
        let mut bus = TestBus::new();
        for (i, op) in code.iter().enumerate() {
            let off = (CODE & 0x1FFF_FFFF) as usize - BASE as usize + 2 * i;
            bus.mem[off..off + 2].copy_from_slice(&op.to_le_bytes());
        }
        let mut cpu = Cpu::new(0);
        cpu.reset(CODE);
        cpu.set_sr(sr::MD); // privileged, bank 0, BL clear, IMASK 0
        cpu.vbr = CODE + 0x1_0000;
        Rig { cpu, bus, table: OpTable::new() }
    }

    /// Execute `n` instructions.
    pub(crate) fn steps(&mut self, n: usize) -> &mut Self {
        for _ in 0..n {
            self.cpu.step(&mut self.bus, &self.table);
        }
        self
    }
}


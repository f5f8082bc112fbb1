; llvm-objdump -d output pasted as it is (bytes, hex offsets, `<label>` suffixes).

prog.o:	file format elf64-bpf

Disassembly of section iter/bpf_map_elem:

0000000000000000 <dump>:
       0:	79 12 18 00 00 00 00 00	r2 = *(u64 *)(r1 + 0x18)
       1:	15 02 02 00 00 00 00 00	if r2 == 0x0 goto +0x2 <dump+0x20>
       2:	b7 00 00 00 01 00 00 00	r0 = 0x1
       3:	95 00 00 00 00 00 00 00	exit
       4:	b7 00 00 00 00 00 00 00	r0 = 0x0
       5:	95 00 00 00 00 00 00 00	exit

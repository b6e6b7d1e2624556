/* Links the no_std static library into a C program and runs the self-test.
 * libcore is prebuilt with unwinding tables that name rust_eh_personality;
 * with panic=abort nothing calls it, so a stub satisfies the linker. */
#include <stdint.h>
#include <stdio.h>

uint64_t plasmite_core_selftest(unsigned char *buf, size_t len);
void rust_eh_personality(void) {}

static unsigned char ram[8192] __attribute__((aligned(8)));

int main(void) {
    uint64_t seq = plasmite_core_selftest(ram, sizeof ram);
    printf("no_std self-test: read back seq %llu\n", (unsigned long long)seq);
    return seq == 1 ? 0 : 1;
}

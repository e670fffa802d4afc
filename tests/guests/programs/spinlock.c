/*
 * RP1 only: a spinlock built on MOVLI.L/MOVCO.L under four-core
 * contention.
 *
 * Every core takes the lock N times and, inside it, does a deliberately
 * non-atomic read-modify-write of a shared counter (load, a little work,
 * store) and checks that nobody else is inside (an owner word). Each core
 * also bumps a second counter N times with a lock-free MOVLI/MOVCO add.
 * At the end both counters must be exactly 4N and no core may have seen
 * another inside the critical section.
 */
#include "platform.h"
#include "rp1.h"

#define N 2000u
#define LIMIT 200000000u

static rp1_lock_t lock;
static volatile uint32_t counter, atomic_counter;
static volatile uint32_t owner = 0xffffffff;
static volatile uint32_t overlaps[NR_CPUS], done[NR_CPUS], go;

static void hammer(unsigned cpu)
{
	for (uint32_t i = 0; i < N; i++) {
		rp1_lock(&lock);
		if (owner != 0xffffffff)
			overlaps[cpu]++;
		owner = cpu;
		uint32_t v = counter;
		for (volatile int k = 0; k < 3; k++)
			; /* widen the window a racing core would hit */
		counter = v + 1;
		if (owner != cpu)
			overlaps[cpu]++;
		owner = 0xffffffff;
		rp1_unlock(&lock);

		rp1_atomic_add(&atomic_counter, 1);
	}
	synco();
	done[cpu] = 1;
	synco();
}

void secondary_main(unsigned cpu)
{
	for (uint32_t i = 0; i < LIMIT && !go; i++)
		;
	hammer(cpu);
}

int main(void)
{
	plat_printf("spinlock start\n");
	for (unsigned cpu = 1; cpu < NR_CPUS; cpu++)
		rp1_start_cpu(cpu);
	synco();
	go = 1;
	synco();
	hammer(0);
	for (unsigned cpu = 1; cpu < NR_CPUS; cpu++)
		for (uint32_t i = 0; i < LIMIT && !done[cpu]; i++)
			;
	synco();
	for (unsigned cpu = 0; cpu < NR_CPUS; cpu++)
		check_true(done[cpu], "cpu %u finished", cpu);
	check_eq("locked counter = 4N", counter, NR_CPUS * N);
	check_eq("movli/movco counter = 4N", atomic_counter, NR_CPUS * N);
	for (unsigned cpu = 0; cpu < NR_CPUS; cpu++)
		check_true(overlaps[cpu] == 0, "cpu %u never saw another core inside", cpu);
	check_eq("lock free at the end", lock.v, 0);
	return check_summary("spinlock");
}

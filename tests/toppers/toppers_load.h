/*
 * toppers_load.h - the RTOS load as a TOPPERS/JSP application
 * (toppers_load.c): task IDs come from kernel_id.h, priorities from here.
 */
#include <t_services.h>

#define PERIODIC_PRIORITY 1 /* the 1 ms task: highest */
#define MAIN_PRIORITY     2 /* sets up, waits for the samples, reports */
#define BURNER_PRIORITY   3 /* the CPU burner: lowest */
#define STACK_SIZE        2048

#ifndef _MACRO_ONLY
extern void periodic_task(VP_INT exinf);
extern void main_task(VP_INT exinf);
extern void burner_task(VP_INT exinf);
extern void tick_handler(VP_INT exinf);
#endif /* _MACRO_ONLY */

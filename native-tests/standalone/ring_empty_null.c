#define _GNU_SOURCE
/*
 * native-tests/standalone/ring_empty_null.c -- an empty message offered or
 * polled with no buffer (data / buf NULL, length 0), as ipcb_conn_send allows:
 * no undefined behaviour (memcpy with a NULL pointer is UB even for 0 bytes;
 * UBSan reports "null pointer passed as argument"). Not built by the Makefile:
 *
 *   cc -std=c11 -g -fsanitize=undefined -fno-sanitize-recover=undefined -pthread -Inative-tests/include \
 *      native-tests/standalone/ring_empty_null.c native-tests/include/ipcbridge_ring.c -lrt -o /tmp/ring_empty_null
 *   /tmp/ring_empty_null   # pass: exit 0, "offer 0 poll 0 len 0"
 */
#include "ipcbridge_ring.h"
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void){ char n[64]; snprintf(n,sizeof n,"/hc-nul-%d",getpid()); struct ipcb_ring r; uint32_t len=9;
 if(ipcb_ring_create(&r,n,1024,100,0,0600)) return 2;
 int a=ipcb_ring_offer(&r,NULL,0,IPCB_RING_NOWAIT,0);
 int b=ipcb_ring_poll(&r,NULL,0,&len,IPCB_RING_NOWAIT,0);
 printf("offer %d poll %d len %u\n",a,b,len); ipcb_ring_close(&r); shm_unlink(n); return !(a == 0 && b == 0 && len == 0);}

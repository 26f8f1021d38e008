/*
 * native-tests/tsan/ring_threads.c -- several threads of one process, each
 * with a multi-producer handle of its own (what ipcbridge_ring.h allows),
 * and a consumer handle: run under ThreadSanitizer it must report no data
 * race in include/ipcbridge_ring.c. Not built by the Makefile (a TSan build):
 *
 *   cc -std=c11 -O1 -g -fsanitize=thread -pthread -Inative-tests/include \
 *      native-tests/tsan/ring_threads.c native-tests/include/ipcbridge_ring.c -lrt -o /tmp/ring_threads
 *   /tmp/ring_threads   # prints "ok"; exit 66 (TSAN_OPTIONS exitcode) on a race
 */
#define _GNU_SOURCE
#include "ipcbridge_ring.h"
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
static char name[64]; enum{NP=4, N=50000};
static void *prod(void *a){ long id=(long)a; struct ipcb_ring r; if(ipcb_ring_open(&r,name)){puts("open");return (void*)1;}
  for(long i=0;i<N;i++){ long m[2]={id,i}; int rc=ipcb_ring_offer(&r,m,sizeof m,IPCB_RING_BLOCK,5000000000LL); if(rc){printf("offer %d %s\n",rc,ipcb_ring_error(&r));return (void*)1;} }
  ipcb_ring_close(&r); return NULL;}
int main(void){ snprintf(name,sizeof name,"/hc-mt-%d",getpid()); struct ipcb_ring c;
  if(ipcb_ring_create(&c,name,4096,64,IPCB_RING_MULTI_PRODUCER,0600)){puts(ipcb_ring_error(&c));return 1;}
  long m[2]; uint32_t len; long next[NP]={0};
  pthread_t t[NP]; for(long i=0;i<NP;i++) pthread_create(&t[i],NULL,prod,(void*)i);
  for(long k=0;k<(long)NP*N;k++){ int rc=ipcb_ring_poll(&c,m,sizeof m,&len,IPCB_RING_BLOCK,5000000000LL); if(rc){printf("poll %d %s after %ld\n",rc,ipcb_ring_error(&c),k);return 1;}
    if(m[1]!=next[m[0]]++){printf("order %ld %ld\n",m[0],m[1]);return 1;} }
  for(int i=0;i<NP;i++) pthread_join(t[i],NULL);
  ipcb_ring_close(&c); shm_unlink(name); puts("ok"); return 0;}

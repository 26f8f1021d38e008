/*
 * native-tests/standalone/conn_eof_errno.c -- ipcb_conn_recv's clean end
 * (-2) leaves errno unchanged, as include/ipcb_conn.h says, also when a
 * signal interrupted the read() before the end of file came (EINTR, which
 * is retried, used to be left in errno). Not built by the Makefile:
 *
 *   cc -std=c11 -D_GNU_SOURCE -Inative-tests/include \
 *      native-tests/standalone/conn_eof_errno.c -o /tmp/conn_eof_errno && /tmp/conn_eof_errno
 *   exit 0 and "recv=-2 errno=0": pass
 */
#include "ipcb_conn.h"
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
static void h(int s){(void)s;}
int main(void){ int p[2]; void *b; pipe(p);
  struct sigaction sa={0}; sa.sa_handler=h; sigaction(SIGUSR1,&sa,NULL);   /* no SA_RESTART */
  pid_t parent=getpid(); pid_t c=fork();
  if(c==0){ close(p[0]); usleep(200000); kill(parent,SIGUSR1); usleep(200000); _exit(0);} /* then EOF */
  close(p[1]); errno=0;
  int64_t n=ipcb_conn_recv(p[0],&b,100);
  printf("recv=%lld errno=%d (%s)\n",(long long)n,errno,strerror(errno)); waitpid(c,NULL,0);
  return !(n==-2 && errno==0);}

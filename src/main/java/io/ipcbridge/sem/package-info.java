/** POSIX semaphores, named and process-shared inside shared memory: {@link io.ipcbridge.sem.Semaphore}. */
package io.ipcbridge.sem;

/** POSIX shared memory and memfd segments, mapped for Java and C alike: {@link io.ipcbridge.shm.SharedMemory}. */
package io.ipcbridge.shm;

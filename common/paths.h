/*
 * paths.h - where letterboxd and letterbox look by default. SYSCONFDIR
 * and LOCALSTATEDIR come from configure (Makefile.am).
 */
#ifndef LETTERBOX_PATHS_H
#define LETTERBOX_PATHS_H

/* The config read when none is named on the command line. */
#define PATH_CONFIG	SYSCONFDIR "/letterbox.conf"
/* data_dir of a config that does not name one. */
#define PATH_DATA_DIR	LOCALSTATEDIR "/lib/letterbox"
/* Where "letterboxd --sandbox" keeps its data (DESIGN.md). */
#define PATH_SANDBOX_DIR "letterbox-data"

#endif

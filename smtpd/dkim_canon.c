/* placeholder: being written (issue 7) */

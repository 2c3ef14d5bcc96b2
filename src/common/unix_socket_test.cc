#include "common/unix_socket.h"
#include <gtest/gtest.h>

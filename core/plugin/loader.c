/* placeholder */
#include "loader.h"

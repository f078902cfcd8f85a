-- Build every table in the new database.
use building
